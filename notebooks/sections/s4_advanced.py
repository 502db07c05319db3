"""Section 4 (advanced, optional): evaluation numbers, the VAE, the conditional GAN, diffusion; the summary."""


def cells(md, code):
    return [
        md("""
        ## 4. 심화(선택): 이 장 너머

        이 절은 이 장의 범위를 넘어서는 내용입니다. 건너뛰어도 앞의 내용을 이해하는 데 지장이 없습니다.

        ### 4.1 생성 모델을 숫자로 평가하기

        이 장은 샘플을 눈으로 보고 판단합니다. `genlab.evaluate`는 genlab에 함께 들어 있는 평가용 분류 모델(evaluator)의
        특징 공간에서 생성한 샘플과 실제 **테스트** 이미지를 비교합니다.

        - FID(Fréchet Inception Distance), KID: 두 이미지 집합의 특징 분포가 얼마나 다른지. 작을수록 좋습니다.
        - 정밀도(precision): 샘플이 실제 데이터가 있는 영역에 얼마나 들어가는지(품질).
          재현율(recall)과 커버리지(coverage): 실제 데이터의 다양성을 얼마나 덮는지(다양성).
        - 비교 기준 두 줄: 실제 훈련 이미지(완벽한 모델이 도달할 바닥)와 픽셀별 평균 이미지(1.1절의 결정론적 '모델').

        평균 이미지는 정밀도는 높지만(흐릿한 숫자 하나가 실제 데이터 영역 안에 있으니까요) 재현율과 커버리지는 0입니다.
        품질과 다양성을 함께 봐야 하는 이유입니다.
        """, """
        ## 4. Advanced (optional): beyond the chapter

        This section goes beyond the chapter; skipping it takes nothing away from what came before.

        ### 4.1 Scoring a generative model with numbers

        The chapter judges samples by eye. `genlab.evaluate` compares generated samples with the real
        **test** images in the feature space of an evaluator network shipped with genlab.

        - FID (Fréchet Inception Distance), KID: how far apart the two feature distributions are; lower is
          better.
        - Precision: how much of the samples falls where real data lies (quality). Recall and coverage: how
          much of the real data's variety the samples cover (diversity).
        - Two reference rows: real training images (the floor a perfect model would reach) and the per-pixel
          mean image (section 1.1's deterministic "model").

        The mean image has high precision (one blurry digit sits inside the real data) but zero recall and
        coverage: quality and diversity must be read together.
        """),
        code("""
        evaluation = genlab.evaluate(gan.path, count=lab.samples)   # @ko GAN 샘플과 비교 기준 두 줄 @en the GAN's samples and the two reference rows
        print(evaluation.table())
        """),
        md("""
        같은 평가를 전체 MNIST와 이 장의 설정(2,000 스텝, 샘플 10,000장)으로 하면 이 장의 GAN은 FID 14.34, genlab의
        기본 설정은 8.55, 평균 이미지는 105.77, 실제 훈련 이미지는 0.05입니다(저장소의 `docs/results.ko.md`).
        빠른 설정의 숫자는 이보다 나쁘게 나오는 것이 정상입니다.

        ### 4.2 변분 오토인코더(VAE)

        2절의 오토인코더가 만든 코드는 잠재 공간 여기저기에 흩어져 있어서, 아무 점이나 골라 디코딩하면 숫자가
        아닌 것이 나오기 쉽습니다. 변분 오토인코더(VAE, variational autoencoder)의 인코더는 코드 하나 대신 정규
        분포의 평균과 분산을 출력하고, 손실에 KL 발산(KL divergence) 항을 더해 코드가 표준 정규 분포 $N(0, I)$를
        따르도록 만듭니다. 그래서 학습이 끝나면 $z \\sim N(0, I)$를 뽑아 디코더에 넣기만 하면 새 숫자가 나옵니다.
        genlab의 기본 VAE는 컨볼루션 인코더와 디코더, 32차원 코드를 씁니다.
        """, """
        The same evaluation on full MNIST with the chapter's settings (2,000 steps, 10,000 samples) gives
        FID 14.34 for the chapter's GAN, 8.55 for genlab's default settings, 105.77 for the mean image and
        0.05 for real training images (`docs/results.md` in the repository). Quick settings are expected to
        score worse.

        ### 4.2 The variational autoencoder (VAE)

        The codes of section 2's autoencoder lie scattered in latent space, so a random point, decoded, is
        often no digit at all. A VAE's encoder outputs the mean and variance of a normal distribution instead
        of one code, and a KL-divergence term in the loss pulls the codes towards the standard normal
        $N(0, I)$. Once trained, any $z \\sim N(0, I)$ fed to the decoder gives a new digit. genlab's default
        VAE has a convolutional encoder and decoder and a 32-D code.
        """),
        code("""
        vae = lab.train("vae", preset="default")
        print(f"«테스트 MSE|test MSE» {vae.metrics['test_mse']:.4f}")
        show(vae.figures / "reconstructions.png")   # @ko 원본(위)과 VAE의 복원(아래) @en originals over the VAE's reconstructions
        show(vae.figures / "samples.png")           # @ko z ~ N(0, I)에서 뽑은 새 숫자 @en new digits from z ~ N(0, I)
        """),
        md("""
        ### 4.3 조건부 GAN(cGAN): 원하는 숫자 그리기

        3절의 GAN은 어떤 숫자가 나올지 고를 수 없습니다. 조건부 GAN(conditional GAN)은 생성자와 판별자 모두에
        클래스 레이블을 함께 넣어, "7을 그려라"처럼 원하는 숫자를 요청할 수 있게 합니다. genlab의 cGAN은 이 장의
        GAN과 같은 컨볼루션 구조에 레이블 임베딩(embedding)과 투영 판별자(projection discriminator)를 더한 것입니다.
        `genlab.sample(run, 개수, label=7)`로 원하는 클래스를 뽑습니다. 한 행이 한 클래스입니다.
        """, """
        ### 4.3 The conditional GAN (cGAN): drawing the digit you ask for

        Section 3's GAN cannot be told which digit to draw. A conditional GAN feeds the class label to both
        networks, so a digit can be asked for ("draw a 7"). genlab's cGAN is the chapter's convolutional GAN
        with a label embedding and a projection discriminator. `genlab.sample(run, count, label=7)` draws one
        class; one row per class below.
        """),
        code("""
        cgan = lab.train("cgan", preset="default")
        print(f"«요청한 클래스를 평가용 분류 모델이 알아본 비율|share of samples the evaluator sees as the requested class»: {cgan.metrics['conditional_accuracy']:.3f}")
        rows = np.concatenate([genlab.sample(cgan.path, 8, seed=0, label=digit) for digit in range(10)])   # @ko 클래스마다 8장 @en 8 per class
        show(genlab.save_images(rows, lab.root / "cgan-classes.png", columns=8, row_labels=[str(digit) for digit in range(10)],
                                title=f"cGAN after {cgan.metrics['steps']} steps, one row per requested class")[0])
        """),
        md("""
        ### 4.4 확산 모델(diffusion model)

        확산 모델은 이미지에 노이즈를 조금씩 더해 가는 과정을 거꾸로 되밟도록 신경망을 학습합니다. 학습이 끝나면 순수한
        노이즈에서 출발해 노이즈를 조금씩 걷어 내며 이미지를 만듭니다. genlab의 `diffusion` 계열은 CPU 코어 2개에서
        15분쯤 학습하면 genlab의 GAN과 비슷한 FID에 이르므로, 이 노트북에서는 학습하지 않습니다. 명령줄에서
        `genlab train diffusion`으로 학습하고, 결과와 그림은 저장소의 `docs/diffusion.ko.md`에 있습니다. genlab에 들어
        있는 모델 계열(family)은 다음과 같습니다.
        """, """
        ### 4.4 Diffusion models

        A diffusion model trains a network to walk back a process that adds noise to an image a little at a
        time; once trained, it starts from pure noise and removes it step by step until an image is left.
        genlab's `diffusion` family needs about 15 minutes on 2 CPU cores to reach an FID like genlab's GAN's,
        so this notebook does not train it: `genlab train diffusion` on the command line, with results and
        figures in `docs/diffusion.md` in the repository. The model families genlab holds:
        """),
        code("""
        from genlab import families

        for name in families.names():
            print(f"{name:12s} {families.get(name).summary}")
        """),
        md("""
        ### 직접 해 보기

        - **4-1** 탐색기로 잠재 공간을 돌아다녀 보세요. 저장소 폴더의 터미널에서 `pip install -e ".[app]"`을 한 번 실행한 뒤
          `genlab explore`를 실행하면 브라우저에서 학습된 모델들(GAN, VAE, cGAN, 노이즈 제거 오토인코더)을 다룰 수
          있습니다. 이 노트북의 GAN도 열 수 있습니다: `print(gan.path.resolve())`가 알려 주는 폴더를
          `genlab explore <폴더>`에 넘기면 됩니다. 슬라이더 하나를 움직이면 숫자의 어디가 바뀌나요? 두 시드 사이를
          보간(interpolation)하면 중간 이미지도 숫자처럼 보이나요?
        - **4-2** 3-2와 3-3에서 학습한 GAN을 `genlab.evaluate(run.path, count=lab.samples)`로 평가해 표로 견주어 보세요.
          FID가 가장 낮은 설정은 정밀도와 재현율 가운데 어느 쪽에서 앞서나요?
        - **4-3** 2차원 코드의 VAE를 학습하고(`lab.train("vae", preset="default", latent_dim=2)`) 2절의 2차원 오토인코더
          (2-1)와 새 샘플을 비교해 보세요. `genlab.sample(run.path, 16, seed=0)`이 두 계열 모두에서 동작합니다.
        """, """
        ### Try it

        - **4-1** Walk through latent space with the explorer. In a terminal, in the repository's folder, run
          `pip install -e ".[app]"` once, then `genlab explore`: the trained models (GAN, VAE, cGAN, denoising
          autoencoder) in the browser. This notebook's GAN opens too: pass the folder that `print(gan.path.resolve())`
          names to `genlab explore <folder>`. Which part of the digit does one slider move? When you interpolate
          between two seeds, do the images in between look like digits?
        - **4-2** Score the GANs of 3-2 and 3-3 with `genlab.evaluate(run.path, count=lab.samples)` and put
          them in a table. Does the setting with the lowest FID lead on precision or on recall?
        - **4-3** Train a VAE with a 2-D code (`lab.train("vae", preset="default", latent_dim=2)`) and compare its
          new samples with the 2-D autoencoder of 2-1. `genlab.sample(run.path, 16, seed=0)` works for both.
        """),
        md("""
        ## 5. 정리

        이 노트북에서 학습한 모든 모델은 `lab.root` 아래 실행 폴더에 설정(`config.toml`), 학습 기록(`history.csv`),
        지표(`metrics.json`), 그림(`figures/`), 모델 파일(`.keras`)로 남아 있습니다. 명령줄에서도 똑같이 쓸 수 있습니다.
        예를 들어 `genlab sample <실행 폴더> -n 64`, `genlab evaluate <실행 폴더>`, 그리고 모든 실행을 한 페이지에 모은
        HTML 보고서를 만드는 `genlab report <실행 폴더들>`이 있습니다. 아래 셀은 그 보고서를 만들고 실행마다 걸린 학습
        시간을 보여 줍니다.
        """, """
        ## 5. Summary

        Every model trained here stays in a run folder under `lab.root`: its settings (`config.toml`), history
        (`history.csv`), metrics (`metrics.json`), figures (`figures/`) and model files (`.keras`). The command
        line does the same: `genlab sample <run folder> -n 64`, `genlab evaluate <run folder>`, and an HTML
        report of all runs on one page, `genlab report <run folders>`. The cell below writes that report and
        shows the training time of each run.
        """),
        code("""
        runs = [classifier, ae, dae, gan, vae, cgan]
        page = genlab.report([run.path for run in runs], lab.root / "report.html", title="chapter 12 notebook")
        print("«보고서|report»:", page)
        print(lab.times_table())
        """),
    ]
